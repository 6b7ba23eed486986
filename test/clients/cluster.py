# redis-py's RedisCluster (Debian's python3-redis) over a rokv slots cluster, for
# test/language-clients.test.ts. The first line of stdin is a JSON object: "keys" (hex)
# and "slots". GETs every key through the cluster and prints a JSON line: the values
# as hex, and for each slot the nodes redis-py's slot map routes it to (host:port, the
# primary first). Then, each time a line "again" arrives, the same over the same
# client (the test kills a primary in between).
# Usage: /usr/bin/python3 cluster.py HOST PORT
import json
import sys

from redis.cluster import ClusterNode, RedisCluster


def read_all(cluster, keys, slots):
    values = [cluster.get(key) for key in keys]
    routes = [[node.name for node in cluster.nodes_manager.slots_cache[slot]] for slot in slots]
    return {'values': [None if v is None else v.hex() for v in values], 'slot_nodes': routes}


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    asked = json.loads(sys.stdin.readline())
    keys = [bytes.fromhex(k) for k in asked['keys']]
    cluster = RedisCluster(startup_nodes=[ClusterNode(host, port)], socket_timeout=5)
    print(json.dumps(read_all(cluster, keys, asked['slots'])), flush=True)
    for line in sys.stdin:
        if line.strip() == 'again':
            print(json.dumps(read_all(cluster, keys, asked['slots'])), flush=True)


main()
