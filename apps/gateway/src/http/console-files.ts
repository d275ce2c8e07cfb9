import type http from "node:http";
import sirv from "sirv";

/**
 * The desk console's built files (apps/console/dist) at `/`, same origin as /trpc, so
 * the browser needs no CORS. sirv indexes the directory once at start (a rebuilt console
 * needs a gateway restart) and only ever serves files from that index, so no request path
 * can reach outside it. Vite's hashed assets are cached for a year; index.html is
 * revalidated every time so a new build is picked up at once.
 */
export function createConsoleFiles(
  dir: string,
): (req: http.IncomingMessage, res: http.ServerResponse, notFound: () => void) => void {
  const serve = sirv(dir, {
    etag: true,
    gzip: true,
    brotli: true,
    dotfiles: false,
    setHeaders(res, pathname) {
      res.setHeader("X-Content-Type-Options", "nosniff");
      if (pathname.startsWith("/assets/")) {
        res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
        return;
      }
      res.setHeader("Cache-Control", "no-cache");
      if (pathname === "/" || pathname.endsWith(".html")) {
        res.setHeader("Content-Security-Policy", CONSOLE_CSP);
        res.setHeader("X-Frame-Options", "DENY");
        res.setHeader("Referrer-Policy", "no-referrer");
      }
    },
  });
  return (req, res, notFound) => serve(req, res, notFound);
}

/** Scripts, styles and connections from this origin only; the inline favicon is a data: URL. */
const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");
