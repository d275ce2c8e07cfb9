// pnpm hooks for this workspace.
module.exports = {
  hooks: {
    // `pnpm pack` / `pnpm publish` (pnpm >= 10.28): the published manifest keeps what an
    // installer reads. devDependencies name workspace-only packages (@desk/gateway, ...)
    // and scripts run tools that exist only here; neither means anything to a consumer.
    beforePacking(pkg) {
      delete pkg.devDependencies;
      delete pkg.scripts;
      return pkg;
    },
  },
};
