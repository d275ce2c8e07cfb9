// Node entry (ESM): `node out/node.js <gateway url>`. Node 20 has no WebSocket of its
// own, so the SDK loads the `ws` package the app installed.
import { deskSession } from "./desk.js";

const url = process.argv[2];
if (!url) throw new Error("usage: node out/node.js <gateway url>");
await deskSession(url, (line) => console.log(line));
