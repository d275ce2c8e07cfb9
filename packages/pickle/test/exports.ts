// Tests import the public API, plus the JSON reader the Python codec uses internally.
export * from "../src/index.js";
export { fromTagged as fromTaggedForTests } from "../src/json-tags.js";
