// Workspace trust, kept once for the whole server: the client says it in `initialize` and
// again with `nixBuilders/setTrusted`. Until it is true nothing connects anywhere (no SSH, no
// `ssh -G`) and nothing is evaluated; every service asks this one object.
export class WorkspaceTrust {
  private value = false;

  get trusted(): boolean {
    return this.value;
  }

  /** Only `true` trusts: a missing field (an older client) or any other value does not. */
  set(value: unknown): void {
    this.value = value === true;
  }

  /** `initialize`'s `initializationOptions.trusted`. */
  setFromInitializationOptions(options: unknown): void {
    this.set((options as { trusted?: unknown } | undefined)?.trusted);
  }
}
