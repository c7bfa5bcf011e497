/** What docker-modem rejects with for an HTTP error answer (the engine's words in `message`). */
export function modemError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) - ${message}`), { statusCode, json: { message } });
}
