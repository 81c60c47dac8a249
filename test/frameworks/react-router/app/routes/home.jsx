import { lazy, Suspense } from 'react'
import { Await, useLoaderData } from 'react-router'
import Home from '../components/generated/Home.jsx'

const Lazy = lazy(() => import('../components/Lazy.jsx'))

/** A deliberately slow part of the page: React Router streams it after the rest of the HTML. */
export function loader() {
  return { slow: new Promise((resolve) => setTimeout(() => resolve('slow done'), Number(process.env.SLOW_MS ?? 400))) }
}

export default function HomeRoute() {
  const { slow } = useLoaderData()
  return (
    <main>
      <h1 id="title">Home</h1>
      <Home />
      <Suspense fallback={null}>
        <Lazy />
      </Suspense>
      <Suspense fallback={<p id="slow">waiting</p>}>
        <Await resolve={slow}>{(value) => <p id="slow">{value}</p>}</Await>
      </Suspense>
    </main>
  )
}
