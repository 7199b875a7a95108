// Devices, threads and what this libtorch was built with.
import { native } from './native.js';
import type { Device } from './tensor.js';

export function cudaAvailable(): boolean {
  return native.cudaDeviceCount() > 0;
}

export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}

/** 'cuda' when a GPU is usable, else 'cpu'. RLHF_DEVICE overrides. */
export function defaultDevice(): Device {
  const env = process.env.RLHF_DEVICE;
  if (env === 'cpu' || env === 'cuda' || env?.startsWith('cuda:')) return env as Device;
  return cudaAvailable() ? 'cuda' : 'cpu';
}

/** Waits for queued GPU work (for timing). No-op on CPU. */
export function synchronize(): void {
  native.synchronize();
}

export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

export function buildInfo(): ReturnType<typeof native.buildInfo> {
  return native.buildInfo();
}
