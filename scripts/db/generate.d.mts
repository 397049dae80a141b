// Types for generate.mjs, which stays plain JavaScript so postinstall needs no TypeScript runner.
export declare const sqliteSchemaPath: string;
export declare const pgSchemaPath: string;
export declare function derivePgSchema(sqliteSchema: string): string;
export declare function writePgSchema(): void;
