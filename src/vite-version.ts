/** True when this Vite version serves HTTP/1.1 only once `server.proxy` is set (6.x and 7.0–7.1). */
export function proxyForcesHttp1(viteVersion: string): boolean {
  const [major = 0, minor = 0] = viteVersion.split('.').map((part) => Number.parseInt(part, 10))
  return major < 7 || (major === 7 && minor < 2)
}
