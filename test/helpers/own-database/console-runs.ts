/** Imported first by the file that owns the 'console-runs' database (see ../own-database.ts). */
import { useOwnDatabase } from '../own-database.js';

useOwnDatabase('console-runs');
