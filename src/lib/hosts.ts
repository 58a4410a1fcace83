/** A host name or address that only this machine reaches (the HTTP listener needs no token there). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
