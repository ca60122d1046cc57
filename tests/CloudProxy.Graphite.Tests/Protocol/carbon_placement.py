# Prints where carbon itself routes each metric name: carbon.routers.ConsistentHashingRouter, the class
# carbon-relay uses for RELAY_METHOD = consistent-hashing, over carbon.hashing.ConsistentHashRing.
# Usage: carbon_placement.py <replication factor> <destinations, comma list> < names (one per line)
# Output: one line per name, the chosen destinations as host:port:instance (instance None when absent).
import sys
from carbon.routers import ConsistentHashingRouter
from carbon.util import parseDestination


class Settings:
    REPLICATION_FACTOR = int(sys.argv[1])
    DIVERSE_REPLICAS = False
    ROUTER_HASH_TYPE = 'carbon_ch'


router = ConsistentHashingRouter(Settings())
for destination in sys.argv[2].split(','):
    router.addDestination(parseDestination(destination))

out = []
for line in sys.stdin.buffer.read().decode('utf-8').split('\n'):
    if line:
        out.append(' '.join('%s:%d:%s' % d for d in router.getDestinations(line)))
sys.stdout.write('\n'.join(out) + '\n')
