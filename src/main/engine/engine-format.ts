import { formatBytes, formatBytesExact } from '../../shared/format';

/** A size for engine messages: "2.1 GB (2,147,483,648 bytes)". */
export function describeSize(bytes: number): string {
  return `${formatBytes(bytes)} (${formatBytesExact(bytes)})`;
}
