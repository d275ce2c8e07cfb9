// A backend that answers at once, for measuring the gateway's own cost: a real MdpBroker
// and real MdpWorkers for the methods the bench's requests touch (login, permissions and
// account_service.get_accounts), replying with fixed, contract-valid values. The MDP
// baseline and the gateway path call the very same workers, so their ratio is the
// gateway's overhead and nothing else.
import { type Account, AuthenticateResult, contracts, UserPermissions } from "@desk/contracts";
import { MdpBroker, MdpWorker } from "@desk/mdp";
import { dumps, loads } from "@desk/pickle";

const user = { id: "u-bench", username: "bench", displayName: "Bench", role: "admin" as const, active: true };
const permissions = ["account:read", "algorithm:read", "market:read", "instruction:parse", "admin"] as const;

const accounts: Account[] = ["account1", "account2", "account3"].map((id, i) => ({
  id,
  name: `Bench ${id}`,
  broker: "bench",
  enabled: true,
  balance: 1_000_000 * (i + 1),
  available: 500_000,
  margin: 100_000,
  dailyPnl: 1_234.5,
  totalPnl: 56_789,
}));

// Validated once against the contracts, so the gateway's reply checks pass as in production.
const replies: Record<string, Record<string, Buffer>> = {
  auth_service: {
    authenticate: dumps([true, AuthenticateResult.parse({ user, permissions: [...permissions] })]),
    get_user_permissions: dumps([
      true,
      UserPermissions.parse({
        userId: user.id,
        role: "admin",
        permissions: [...permissions],
        accounts: [],
        allAccounts: true,
      }),
    ]),
    verify_user: dumps([true, { userId: user.id, exists: true, active: true }]),
  },
  account_service: {
    get_accounts: dumps([true, contracts.account_service.get_accounts.result.parse(accounts)]),
  },
};

export const benchLogin = { username: "bench", password: "bench-password" };

/** The request the gateway sends for `account.list`, for the MDP baseline to send the same bytes. */
export function getAccountsPayload(requestId: string): Buffer {
  return dumps(["get_accounts", [], { _ctx: { userId: user.id, requestId } }]);
}

export interface InstantBackend {
  brokerUrl: string;
  close(): Promise<void>;
}

export async function startInstantBackend(o: { concurrency?: number } = {}): Promise<InstantBackend> {
  const broker = new MdpBroker({ heartbeatInterval: 2_500 });
  const brokerUrl = await broker.bind("tcp://127.0.0.1:*");
  const workers = Object.entries(replies).map(
    ([service, methods]) =>
      new MdpWorker({
        endpoint: brokerUrl,
        service,
        concurrency: o.concurrency ?? 64,
        heartbeatInterval: 2_500,
        handler: (payload) => {
          // Decode like a real worker would, so the baseline pays the same pickle cost.
          const request = loads(payload) as [string, unknown[], unknown];
          const reply = methods[request[0]];
          return reply ?? dumps([false, `NOT_FOUND: ${service}.${request[0]} is not served by the bench backend`]);
        },
      }),
  );
  await Promise.all(workers.map((w) => w.start()));
  return {
    brokerUrl,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await broker.close();
    },
  };
}
