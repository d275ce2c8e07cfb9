import { invalid, notFound, ServiceError } from "../errors.js";
import type { UserStore } from "../state/users.js";
import type { ServiceHandlers } from "./types.js";

const MIN_PASSWORD = 6;

export function createAuthService(users: UserStore): ServiceHandlers<"auth_service"> {
  return {
    async authenticate([username, password]) {
      const user = await users.authenticate(username, password);
      if (!user) throw new ServiceError("UNAUTHENTICATED", "invalid username or password");
      const granted = users.permissions(user.id);
      return { user, permissions: granted?.permissions ?? [], tokenVersion: granted?.tokenVersion ?? 0 };
    },
    verify_user([userId]) {
      const user = users.byId(userId);
      return { userId, exists: user !== undefined, active: user?.active ?? false };
    },
    async change_password([userId, oldPassword, newPassword], ctx) {
      if (!users.byId(userId)) throw notFound(`no user ${userId}`);
      if (newPassword.length < MIN_PASSWORD)
        throw invalid(`the new password must have at least ${MIN_PASSWORD} characters`);
      if (newPassword === oldPassword) throw invalid("the new password must differ from the old one");
      if (!(await users.changePassword(userId, oldPassword, newPassword))) {
        throw new ServiceError("UNAUTHENTICATED", "the old password is wrong");
      }
      ctx.logger.info({ userId, by: ctx.userId }, "password changed");
      return { changed: true };
    },
    get_user_permissions([userId]) {
      const p = users.permissions(userId);
      if (!p) throw notFound(`no user ${userId}`);
      return p;
    },
  };
}
