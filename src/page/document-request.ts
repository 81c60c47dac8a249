import type { IncomingMessage } from 'node:http'
import { stripQuery } from '../graph/resolve-url.js'

const DOCUMENT_DESTINATIONS = new Set(['document', 'iframe', 'frame', 'fencedframe', 'embed', 'object', ''])

/** True for a GET that may return an HTML page: a document destination (or none) and an extension-less or `.html` path. */
export function mayBeDocument(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false
  const destination = req.headers['sec-fetch-dest']
  if (destination !== undefined && !DOCUMENT_DESTINATIONS.has(String(destination))) return false
  const path = stripQuery(req.url ?? '')
  const lastSegment = path.slice(path.lastIndexOf('/') + 1)
  return !lastSegment.includes('.') || /\.html?$/i.test(lastSegment)
}
