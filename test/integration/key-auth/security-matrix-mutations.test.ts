import { runSecurityMatrix } from '../../helpers/security-matrix.js';

runSecurityMatrix('mutation');
