/** Enums shared by several feature modules. */
import { builder } from './builder.js';

export const ActorKind = builder.enumType('ActorKind', {
  description: 'Who made a change or triggered a run.',
  values: {
    USER: { description: 'A signed-in user.' },
    API_KEY: { description: 'An API key.' },
    SYSTEM: { description: 'keygate itself (bootstrap, the command line).' },
  } as const,
});
