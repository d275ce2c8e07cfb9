export { findPython, type PythonLookup, pythonForSuite } from "./python.js";
