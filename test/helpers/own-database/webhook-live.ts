/** Imported first by the file that owns the 'webhook-live' database (see ../own-database.ts). */
import { useOwnDatabase } from '../own-database.js';

useOwnDatabase('webhook-live');
