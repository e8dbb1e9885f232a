export interface Bundle {
  /** The bundled ES module, ready to import. */
  file: string;
  /** sha256 over the sources (path relative to root, content sha256) the bundle was built from. */
  fingerprint: string;
  sources: Record<string, string>;
  /** Packages the bundle imports (kept external), e.g. "arquero". */
  packages: string[];
  /** Source -> the names its code registers key facts under (registerKeyFacts('name', ...)). */
  keyFactRegistrations: Record<string, string[]>;
}
export function ensureBundle(entry: string, opts: { buildDir: string; root: string; bundlePackages?: boolean }): Promise<Bundle>;
