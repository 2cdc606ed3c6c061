import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  nodeVersion: string;
  os: string;
  /** The disk the account folders and the fsync probe live on. */
  disk: {
    dir: string;
    device: string;
    fsType: string;
    model: string;
    rotational: boolean | undefined;
  };
  loadAverageAtStart: number[];
}

/** `workDir` is recorded relative to `root`: results files name no folder of the machine. */
export function describeMachine(workDir: string, root: string): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    nodeVersion: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    disk: { ...describeDisk(workDir), dir: path.relative(root, workDir) || '.' },
    loadAverageAtStart: os.loadavg(),
  };
}

/** Best effort, Linux: `findmnt` for the device and file system, /sys/block for the rest. */
function describeDisk(dir: string): MachineInfo['disk'] {
  const unknown = {
    dir,
    device: 'unknown',
    fsType: 'unknown',
    model: 'unknown',
    rotational: undefined,
  };
  try {
    const [device = 'unknown', fsType = 'unknown'] = execFileSync(
      'findmnt',
      ['-n', '-o', 'SOURCE,FSTYPE', '-T', dir],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
      .trim()
      .split(/\s+/);
    const name = path.basename(device);
    // A partition (sda1, nvme0n1p2) has no queue/ of its own: use its disk's.
    const block = existsSync(`/sys/block/${name}`) ? name : name.replace(/p?\d+$/, '');
    const model =
      readSys(`/sys/block/${block}/device/model`) ??
      (block.startsWith('vd') ? 'virtio disk' : 'unknown');
    const rotational = readSys(`/sys/block/${block}/queue/rotational`);
    return {
      dir,
      device,
      fsType,
      model,
      rotational: rotational === undefined ? undefined : rotational === '1',
    };
  } catch {
    return unknown;
  }
}

function readSys(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function describeMachineLine(machine: MachineInfo): string {
  const disk = machine.disk;
  const kind =
    disk.rotational === undefined
      ? ''
      : disk.rotational
        ? ', reported rotational'
        : ', reported non-rotational';
  return (
    `${machine.cpuModel}, ${machine.cores} cores, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ` +
    `Node ${machine.nodeVersion}, ${machine.os}; disk ${disk.device} (${disk.fsType}, ${disk.model}${kind})`
  );
}
