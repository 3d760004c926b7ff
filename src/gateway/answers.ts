/**
 * The gateway's own answers in the Anthropic error envelope: on a response
 * (`sendError`), on a bare socket before a request exists (`writeRawError`:
 * oversized headers, slow clients, garbage, CONNECT), and the mapping of
 * router and Fastify errors to Gantry's codes.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError } from 'fastify';
import type { Logger } from 'pino';
import { newId } from '../anthropic/ids.ts';
import { GantryError, toGantryError } from '../errors.ts';

function errorHeaders(
  error: GantryError,
  requestId: string,
  length: number,
): Record<string, string | number> {
  return {
    'content-type': 'application/json',
    'content-length': length,
    'request-id': requestId,
    'gantry-request-id': requestId,
    ...error.headers,
  };
}

export function sendError(
  res: ServerResponse,
  error: GantryError,
  requestId: string,
  close: boolean,
  head = false,
): void {
  const body = JSON.stringify(error.toEnvelope(requestId));
  const headers = errorHeaders(error, requestId, Buffer.byteLength(body));
  if (close || error.code === 'shutting_down') headers.connection = 'close';
  res.writeHead(error.status, headers);
  res.end(head ? undefined : body);
}

export function toRouterError(error: Error & { code?: string }): GantryError {
  if (error instanceof GantryError) return error;
  return new GantryError(
    'invalid_request_target',
    error.code === 'FST_ERR_BAD_URL'
      ? 'The request path is not valid (bad percent-encoding).'
      : 'The request target could not be routed.',
    { cause: error },
  );
}

export function fromFastifyError(error: FastifyError | GantryError): GantryError {
  if (error instanceof GantryError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GantryError('body_too_large', 'The request body is larger than this gateway accepts.', {
        cause: error,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GantryError('unsupported_content_type', 'Send the request body as `application/json`.', {
        cause: error,
      });
    case 'FST_ERR_BAD_URL':
      return toRouterError(error);
    default:
      if (typeof error.statusCode === 'number' && error.statusCode < 500) {
        return new GantryError('invalid_body', 'The request could not be read.', { cause: error });
      }
      return toGantryError(error);
  }
}

const CLIENT_ERRORS: Record<
  string,
  { code: 'headers_too_large' | 'client_timeout' | 'invalid_body'; reason: string }
> = {
  HPE_HEADER_OVERFLOW: { code: 'headers_too_large', reason: 'Request Header Fields Too Large' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'client_timeout', reason: 'Request Timeout' },
  ERR_HTTP_HEADERS_TIMEOUT: { code: 'client_timeout', reason: 'Request Timeout' },
};

/** Writes a whole error response on a socket that has no response object, then closes it. */
export function writeRawError(socket: Socket, error: GantryError, reason: string): string {
  const requestId = newId('gtw');
  const body = JSON.stringify(error.toEnvelope(requestId));
  let head = `HTTP/1.1 ${error.status} ${reason}\r\n`;
  for (const [name, value] of Object.entries(errorHeaders(error, requestId, Buffer.byteLength(body)))) {
    head += `${name}: ${value}\r\n`;
  }
  socket.end(`${head}connection: close\r\n\r\n${body}`);
  return requestId;
}

/**
 * Errors Node's HTTP parser raises outside a request (oversized headers, slow
 * clients, garbage). A response still being written on the socket (a valid
 * request pipelined before the garbage) is finished first; the error follows it.
 */
export function onClientError(
  err: Error & { code?: string },
  socket: Socket,
  logger: Logger,
  timedOut: WeakSet<Socket>,
): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const known = err.code ? CLIENT_ERRORS[err.code] : undefined;
  if (known?.code === 'client_timeout') timedOut.add(socket);
  const error = known
    ? new GantryError(
        known.code,
        known.code === 'headers_too_large'
          ? 'The request headers are larger than this gateway accepts.'
          : 'The request was not received in time.',
      )
    : new GantryError('invalid_body', 'The request is not valid HTTP.');
  const answer = () => {
    if (!socket.writable) return;
    const requestId = writeRawError(socket, error, known?.reason ?? 'Bad Request');
    logger.warn({ req_id: requestId, status: error.status, gantry_code: error.code }, 'client error');
  };
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight && !inFlight.writableFinished && known?.code !== 'client_timeout') {
    inFlight.once('finish', answer);
    inFlight.once('close', () => {
      if (!inFlight.writableFinished) socket.destroy();
    });
    return;
  }
  answer();
}
