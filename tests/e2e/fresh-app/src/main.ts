// Browser entry: what Vite bundles.
import { deskSession } from "./desk.js";

const status = document.querySelector("#status");
deskSession(location.origin, (line) => {
  if (status) status.textContent = line;
}).catch((err: unknown) => {
  if (status) status.textContent = `failed: ${String(err)}`;
});
