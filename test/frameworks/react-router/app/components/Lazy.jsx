export default function Lazy() {
  return <p id="lazy">lazy loaded</p>
}
