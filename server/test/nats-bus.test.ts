import { connect } from '@nats-io/transport-node';
import { busContract } from '@shutter/actors/testing';
import { NatsBus } from '../src/adapters/nats-bus.js';
import { natsUrl, uniqueName } from './services.js';

busContract('NatsBus', {
  async open() {
    const prefix = uniqueName('bus');
    const [nc1, nc2] = await Promise.all([connect({ servers: natsUrl }), connect({ servers: natsUrl })]);
    const a = new NatsBus(nc1, prefix);
    const b = new NatsBus(nc2, prefix);
    return {
      a,
      b,
      close: async () => {
        await Promise.all([a.close(), b.close()]);
      },
    };
  },
  prefix: () => 'c',
});
