/**
 * Server-sent events as the Messages API uses them.
 *
 * (Decoder to be completed: see the SSE codec task.)
 */

/** One SSE frame in the API's shape: `event: <name>\ndata: <json>\n\n`. */
export function encodeEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}
