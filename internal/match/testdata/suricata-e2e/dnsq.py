# Sends one A query for each name and waits for its answer.
import socket, sys, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0)); s.settimeout(5)
for n, name in enumerate(sys.argv[2:]):
    q = struct.pack('>HHHHHH', 0x1000 + n, 0x0100, 1, 0, 0, 0)
    for l in name.split('.'): q += bytes([len(l)]) + l.encode()
    q += b'\x00\x00\x01\x00\x01'
    s.sendto(q, (sys.argv[1], 53)); s.recvfrom(512)
