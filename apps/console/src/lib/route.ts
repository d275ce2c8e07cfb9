/** The console's screens, addressed by the URL hash so a reload or a link lands on the same one. */
export const SCREENS = ["accounts", "positions", "market", "algorithms", "instructions"] as const;
export type Screen = (typeof SCREENS)[number];

export const SCREEN_TITLES: Readonly<Record<Screen, string>> = {
  accounts: "Accounts",
  positions: "Positions & risk",
  market: "Market",
  algorithms: "Algorithms",
  instructions: "Instructions",
};

export interface Route {
  screen: Screen;
  /** The account the positions screen shows, when chosen. */
  account: string | null;
}

/** "#positions/account2" -> { screen: "positions", account: "account2" }; anything else -> accounts. */
export function parseRoute(hash: string): Route {
  const [first, second] = hash.replace(/^#\/?/, "").split("/");
  const screen = (SCREENS as readonly string[]).includes(first ?? "") ? (first as Screen) : "accounts";
  const account = screen === "positions" && second ? decodeURIComponent(second) : null;
  return { screen, account };
}

export function routeHash(route: Route): string {
  return route.screen === "positions" && route.account
    ? `#positions/${encodeURIComponent(route.account)}`
    : `#${route.screen}`;
}
