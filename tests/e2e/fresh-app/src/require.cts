// Node entry (CommonJS): the package's `require` condition, types and code.
import { createGatewayClient, login } from "@desk/sdk";
import { AccountId } from "@desk/sdk/schemas";

async function main(url: string): Promise<void> {
  const { token } = await login(url, "trader1", "trader123");
  const gateway = createGatewayClient({ url, token });
  const accounts = await gateway.account.list.query();
  const valid = accounts.every((account) => AccountId.safeParse(account.id).success);
  console.log(`require: accounts ${accounts.length}, ids valid: ${valid}`);
}

main(process.argv[2] ?? "").catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
