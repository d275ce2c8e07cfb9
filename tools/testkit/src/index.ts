export { freePort, type NodeProcess, runNode } from "./process.js";
export { findPython, type PythonLookup, pythonForSuite } from "./python.js";
export { waitFor } from "./wait.js";
