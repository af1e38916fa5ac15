/** Minimal typing of jsfive 0.4 (no bundled declarations): only what read-hdf5.ts uses. */
declare module 'jsfive' {
  export interface JsfiveDataObjects {
    offset: number;
    fh: ArrayBuffer;
    find_msg_type(type: number): Map<string, number>[];
    filter_pipeline: unknown;
    chunks: number[] | null;
  }
  export class Group {
    name: string;
    get keys(): string[];
    get attrs(): Record<string, unknown>;
    get(path: string): Group | Dataset;
    _dataobjects: JsfiveDataObjects;
  }
  export class Dataset {
    name: string;
    get shape(): number[];
    get dtype(): string | unknown[];
    get attrs(): Record<string, unknown>;
    _dataobjects: JsfiveDataObjects;
  }
  export class File extends Group {
    constructor(buffer: ArrayBuffer, filename?: string);
  }
}
