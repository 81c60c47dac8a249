import About from '../components/generated/About.jsx'

export default function AboutRoute() {
  return (
    <main>
      <h1 id="title">About</h1>
      <About />
    </main>
  )
}
