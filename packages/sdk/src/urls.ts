/**
 * The gateway serves tRPC over HTTP at `<url>/trpc` and over WebSocket on the same port,
 * so one base URL is enough; the WebSocket URL is derived (http->ws, https->wss) unless given.
 */
export function httpEndpoint(baseUrl: string): string {
  return `${stripSlash(baseUrl)}/trpc`;
}

export function wsEndpoint(baseUrl: string): string {
  const url = new URL(httpEndpoint(baseUrl));
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

function stripSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}
