# redis-py (Debian's python3-redis) against a rokv RESP port: prints one JSON object of
# what the client read, values as hex, for test/language-clients.test.ts to check
# against the data file. Usage: /usr/bin/python3 check.py HOST PORT
import json
import sys

import redis


def hexed(value):
    return None if value is None else value.hex()


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    r = redis.Redis(host=host, port=port, socket_timeout=10)
    out = {'ping': r.ping()}
    out['get_hit'] = hexed(r.get('greeting'))
    out['get_miss'] = hexed(r.get('no-such-key'))
    out['mget'] = [hexed(v) for v in r.mget(['key:1', 'no-such-key', 'key:2', 'missing-too'])]
    out['binary'] = hexed(r.get('binary'))
    pipe = r.pipeline(transaction=False)
    for i in range(300):
        pipe.get('key:%d' % i)
    out['pipeline'] = [hexed(v) for v in pipe.execute()]
    out['scan'] = [k.hex() for k in r.scan_iter(count=50)]
    try:
        r.set('greeting', 'changed')
        out['set_error'] = None
    except redis.exceptions.ResponseError as e:
        out['set_error'] = {'class': type(e).__name__, 'message': str(e)}
    print(json.dumps(out))


main()
