export { findPython, type PythonLookup, pythonForSuite } from "./python.js";
export { waitFor } from "./wait.js";
