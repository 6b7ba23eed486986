# ruby-redis (Debian's ruby-redis) against a rokv RESP port: prints one JSON object of
# what the client read, values as hex, for test/language-clients.test.ts to check
# against the data file. Usage: ruby check.rb HOST PORT
require 'json'
require 'redis'

def hexed(value)
  value.nil? ? nil : value.unpack1('H*')
end

host = ARGV[0]
port = Integer(ARGV[1])
r = Redis.new(host: host, port: port, timeout: 10)
out = { 'ping' => r.ping == 'PONG' }
out['get_hit'] = hexed(r.get('greeting'))
out['get_miss'] = hexed(r.get('no-such-key'))
out['mget'] = r.mget('key:1', 'no-such-key', 'key:2', 'missing-too').map { |v| hexed(v) }
out['binary'] = hexed(r.get('binary'))
out['pipeline'] = r.pipelined { |pipe| 300.times { |i| pipe.get("key:#{i}") } }.map { |v| hexed(v) }
out['scan'] = r.scan_each(count: 50).map { |k| hexed(k) }
begin
  r.set('greeting', 'changed')
  out['set_error'] = nil
rescue Redis::CommandError => e
  out['set_error'] = { 'class' => e.class.name, 'message' => e.message }
end
puts JSON.generate(out)
