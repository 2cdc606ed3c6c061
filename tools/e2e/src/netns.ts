import { execFileSync } from 'node:child_process';

/**
 * Hosts on this machine: one Linux network namespace per host, each joined to a bridge in
 * the test's own namespace by a veth pair, so every host has its own address and nothing
 * but the network in common with the others (`ip netns`, iproute2; needs root). The test
 * process reaches every host over the bridge. `cut(host)` takes a host off the network the
 * way a pulled cable does; `restore(host)` plugs it back in.
 */
export class NetworkLab {
  private readonly hosts = new Map<string, { namespace: string; link: string; address: string }>();
  private readonly bridge: string;
  private destroyed = false;

  private constructor(
    readonly subnet: string,
    private readonly tag: string,
  ) {
    this.bridge = `${tag}br`;
  }

  /**
   * Makes the bridge and one namespace per host name. Throws, saying why in plain words,
   * when namespaces cannot be made here (not root, no iproute2, no permission).
   */
  static create(hostNames: string[]): NetworkLab {
    if (process.platform !== 'linux') {
      throw new Error(
        `This test needs Linux network namespaces; this machine runs ${process.platform}.`,
      );
    }
    if (process.getuid?.() !== 0) {
      throw new Error(
        'This test needs to create Linux network namespaces (ip netns), which only root can do; it runs as ' +
          `uid ${process.getuid?.()}. Run it as root (CI does).`,
      );
    }
    // A tag and subnet of this run's own, so two runs (or a run that died) never collide.
    const tag = `gl${(process.pid % 100_000).toString(36)}`;
    const subnet = `10.${200 + (process.pid % 50)}.${Math.floor(process.pid / 50) % 250}`;
    const lab = new NetworkLab(subnet, tag);
    labs.add(lab);
    try {
      ip('link', 'add', lab.bridge, 'type', 'bridge');
      ip('addr', 'add', `${subnet}.1/24`, 'dev', lab.bridge);
      ip('link', 'set', lab.bridge, 'up');
      hostNames.forEach((name, index) => lab.addHost(name, `${subnet}.${10 + index}`, index));
    } catch (error) {
      lab.destroy();
      throw new Error(
        `Could not make the network namespaces this test needs (ip netns, veth, bridge): ${(error as Error).message}`,
      );
    }
    return lab;
  }

  /** The host's address, reachable from the test and from every other host. */
  address(host: string): string {
    return this.host(host).address;
  }

  /** The command prefix that runs a program on the host. */
  wrap(host: string): string[] {
    return ['ip', 'netns', 'exec', this.host(host).namespace];
  }

  /** The host's cable pulled: nothing reaches it, nothing leaves it. */
  cut(host: string): void {
    ip('link', 'set', this.host(host).link, 'down');
  }

  restore(host: string): void {
    ip('link', 'set', this.host(host).link, 'up');
  }

  /** Removes every namespace (which removes its end of the veth) and the bridge. Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    labs.delete(this);
    for (const { namespace, link } of this.hosts.values()) {
      quietly(() => ip('link', 'del', link));
      quietly(() => ip('netns', 'del', namespace));
    }
    quietly(() => ip('link', 'del', this.bridge));
  }

  private addHost(name: string, address: string, index: number): void {
    const namespace = `${this.tag}-${name}`;
    const link = `${this.tag}h${index}`;
    this.hosts.set(name, { namespace, link, address });
    ip('netns', 'add', namespace);
    ip('link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
    ip('link', 'set', link, 'master', this.bridge);
    ip('link', 'set', link, 'up');
    ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    ip('-n', namespace, 'link', 'set', 'eth0', 'up');
    ip('-n', namespace, 'link', 'set', 'lo', 'up');
  }

  private host(name: string) {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name} in this network`);
    return host;
  }
}

const labs = new Set<NetworkLab>();
// Whatever ends the test process, no namespace or bridge it made outlives it.
process.once('exit', () => {
  for (const lab of labs) lab.destroy();
});

function ip(...args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // already gone
  }
}
