export interface TsBlock {
  /** The README line the block's code starts on (1-based). */
  readonly line: number
  readonly code: string
}
export declare const extractTsBlocks: (markdown: string) => Array<TsBlock>
export declare const writeTsBlocks: (readmePath: string, dir: string) => Array<string>
