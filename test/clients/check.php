<?php
// phpredis (Debian's php-redis) against a rokv RESP port: prints one JSON object of
// what the client read, values as hex, for test/language-clients.test.ts to check
// against the data file. Usage: php check.php HOST PORT

function hexed($value) {
    return $value === false ? null : bin2hex($value);
}

$r = new Redis();
$r->connect($argv[1], (int) $argv[2], 10);
$out = ['ping' => $r->ping() === true];
$out['get_hit'] = hexed($r->get('greeting'));
$out['get_miss'] = hexed($r->get('no-such-key'));
$out['mget'] = array_map('hexed', $r->mget(['key:1', 'no-such-key', 'key:2', 'missing-too']));
$out['binary'] = hexed($r->get('binary'));
$pipe = $r->multi(Redis::PIPELINE);
for ($i = 0; $i < 300; $i++) $pipe->get("key:$i");
$out['pipeline'] = array_map('hexed', $pipe->exec());
$r->setOption(Redis::OPT_SCAN, Redis::SCAN_RETRY);
$out['scan'] = [];
$cursor = null;
while (($keys = $r->scan($cursor, '*', 50)) !== false) {
    foreach ($keys as $key) $out['scan'][] = bin2hex($key);
}
try {
    $ok = $r->set('greeting', 'changed');
    $out['set_error'] = $ok ? null : ['class' => 'false', 'message' => $r->getLastError()];
} catch (RedisException $e) {
    $out['set_error'] = ['class' => get_class($e), 'message' => $e->getMessage()];
}
echo json_encode($out), "\n";
