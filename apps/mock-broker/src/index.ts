export { startMockBackend } from "./backend.js";
export type { MockBackend, MockBackendOptions } from "./backend.js";
export { loadConfig, bindEndpointOf, ConfigError } from "./config.js";
export type { MockConfig } from "./config.js";
export { SEED_USERS } from "./state/users.js";
export type { SeedUser } from "./state/users.js";
export { SEED_ACCOUNTS } from "./state/accounts.js";
export { SEED_ALGORITHMS } from "./state/algorithms.js";
