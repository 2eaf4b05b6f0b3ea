-- udpkit.lua - Wireshark/tshark dissector for udpkit's datagrams:
--   the reliable protocol (docs/PROTOCOL.md, first byte 0x75),
--   the sealed header (docs/SEALING.md, magic C5 53; the body stays opaque),
--   udpchat packets (docs/CHAT.md, magic "UCHT"), bare or inside a reliable
--   message's first fragment.
-- udpkit uses any UDP port, so the dissector is heuristic: it claims a
-- datagram only when the magic, version and length rules of its format hold.
--
--   wireshark -X lua_script:tools/wireshark/udpkit.lua capture.pcap
--   tshark -X lua_script:tools/wireshark/udpkit.lua -r capture.pcap -V
-- or copy it to ~/.local/lib/wireshark/plugins/.

local rel = Proto("udpkit", "udpkit reliable protocol")
local seal = Proto("udpkit_seal", "udpkit sealed datagram")
local chat = Proto("udpkit_chat", "udpkit chat")

local rel_types = {
	[1] = "HELLO", [2] = "COOKIE", [3] = "CONNECT", [4] = "ACCEPT",
	[5] = "DATA", [6] = "ACK", [7] = "PING", [8] = "DGRAM",
	[9] = "PATH_CHALLENGE", [10] = "PATH_RESPONSE", [11] = "PROBE",
}
local chat_types = {
	[1] = "BEACON", [2] = "LEAVE", [3] = "HELLO", [4] = "MSG", [5] = "PRIV",
	[6] = "ME", [7] = "NICK", [8] = "BYE", [9] = "PEERS", [10] = "HISTORY",
}

local rf = {
	magic = ProtoField.uint8("udpkit.magic", "Magic", base.HEX),
	version = ProtoField.uint8("udpkit.version", "Version"),
	type = ProtoField.uint8("udpkit.type", "Type", base.DEC, rel_types),
	flags = ProtoField.uint8("udpkit.flags", "Flags", base.HEX),
	flag_echo = ProtoField.bool("udpkit.flags.echo", "ECHO", 8, nil, 0x01),
	flag_fin = ProtoField.bool("udpkit.flags.fin", "FIN", 8, nil, 0x02),
	flag_seqpacket = ProtoField.bool("udpkit.flags.seqpacket", "SEQPACKET", 8, nil, 0x04),
	flag_part = ProtoField.bool("udpkit.flags.part", "PART", 8, nil, 0x08),
	dst = ProtoField.uint32("udpkit.dst_sid", "Destination session id", base.HEX),
	src = ProtoField.uint32("udpkit.src_sid", "Source session id", base.HEX),
	padding = ProtoField.bytes("udpkit.padding", "Padding"),
	bucket = ProtoField.uint32("udpkit.bucket", "Cookie bucket"),
	cookie = ProtoField.uint64("udpkit.cookie", "Cookie", base.HEX),
	init_seq = ProtoField.uint32("udpkit.init_seq", "Initial sequence number"),
	window_pkts = ProtoField.uint32("udpkit.window_pkts", "Receive window (packets)"),
	max_msg = ProtoField.uint32("udpkit.max_msg", "Largest message (bytes)"),
	budget = ProtoField.uint32("udpkit.budget", "Receive budget (bytes)"),
	ts = ProtoField.uint32("udpkit.ts", "Timestamp (us mod 2^32)"),
	ts_echo = ProtoField.uint32("udpkit.ts_echo", "Timestamp echo"),
	window = ProtoField.uint32("udpkit.window", "Free receive budget (bytes)"),
	cum_ack = ProtoField.uint32("udpkit.cum_ack", "Cumulative ack (next expected)"),
	nsack = ProtoField.uint8("udpkit.nsack", "Selective-ack words"),
	sack = ProtoField.uint32("udpkit.sack", "Selective-ack word", base.HEX),
	seq = ProtoField.uint32("udpkit.seq", "Sequence number"),
	msg_len = ProtoField.uint32("udpkit.msg_len", "Message length"),
	frag_off = ProtoField.uint32("udpkit.frag_off", "Fragment offset"),
	frag_index = ProtoField.uint32("udpkit.frag_index", "Fragment index"),
	frag_count = ProtoField.uint32("udpkit.frag_count", "Fragment count"),
	dgram_seq = ProtoField.uint32("udpkit.dgram_seq", "Datagram sequence number"),
	path_token = ProtoField.uint64("udpkit.path_token", "Path validation token", base.HEX),
	payload = ProtoField.bytes("udpkit.payload", "Payload"),
	crc = ProtoField.uint32("udpkit.crc", "CRC-32C", base.HEX),
}
rel.fields = {}
for _, f in pairs(rf) do table.insert(rel.fields, f) end

local sf = {
	magic = ProtoField.uint16("udpkit_seal.magic", "Magic", base.HEX),
	version = ProtoField.uint8("udpkit_seal.version", "Version"),
	flags = ProtoField.uint8("udpkit_seal.flags", "Flags", base.HEX),
	flag_sealed = ProtoField.bool("udpkit_seal.flags.sealed", "SEALED", 8, nil, 0x01),
	flag_gcm = ProtoField.bool("udpkit_seal.flags.aes256gcm", "AES256GCM", 8, nil, 0x02),
	key_id = ProtoField.uint32("udpkit_seal.key_id", "Key id (of this session)", base.HEX),
	session = ProtoField.bytes("udpkit_seal.session_id", "Session id"),
	counter = ProtoField.uint64("udpkit_seal.counter", "Counter"),
	ciphertext = ProtoField.bytes("udpkit_seal.ciphertext", "Ciphertext"),
	ct_len = ProtoField.uint32("udpkit_seal.ciphertext_len", "Ciphertext length"),
	tag = ProtoField.bytes("udpkit_seal.tag", "Tag"),
}
seal.fields = {}
for _, f in pairs(sf) do table.insert(seal.fields, f) end

local cf = {
	magic = ProtoField.string("udpkit_chat.magic", "Magic"),
	version = ProtoField.uint8("udpkit_chat.version", "Version"),
	type = ProtoField.uint8("udpkit_chat.type", "Type", base.DEC, chat_types),
	id = ProtoField.uint64("udpkit_chat.id", "Sender id", base.HEX),
	port = ProtoField.uint16("udpkit_chat.port", "Data port"),
	nick_len = ProtoField.uint8("udpkit_chat.nick_len", "Nick length"),
	nick = ProtoField.string("udpkit_chat.nick", "Nick"),
	start = ProtoField.uint64("udpkit_chat.start", "Started (us since the epoch)"),
	seq = ProtoField.uint64("udpkit_chat.seq", "Line counter"),
	ts = ProtoField.uint64("udpkit_chat.ts", "Said (us since the epoch)"),
	line_flags = ProtoField.uint8("udpkit_chat.line_flags", "Line flags", base.HEX,
		{ [0] = "live", [1] = "late", [2] = "history" }),
	count = ProtoField.uint16("udpkit_chat.count", "Lines asked"),
	text_len = ProtoField.uint16("udpkit_chat.text_len", "Text length"),
	text = ProtoField.string("udpkit_chat.text", "Text"),
	padding = ProtoField.bytes("udpkit_chat.padding", "Padding"),
	peer_id = ProtoField.uint64("udpkit_chat.peer.id", "Peer id", base.HEX),
	peer_family = ProtoField.uint8("udpkit_chat.peer.family", "Peer family"),
	peer_v4 = ProtoField.ipv4("udpkit_chat.peer.ipv4", "Peer address"),
	peer_v6 = ProtoField.ipv6("udpkit_chat.peer.ipv6", "Peer address"),
	peer_port = ProtoField.uint16("udpkit_chat.peer.port", "Peer data port"),
}
chat.fields = {}
for _, f in pairs(cf) do table.insert(chat.fields, f) end

local HDR = 12      -- common header of the reliable protocol
local TRAILER = 4   -- CRC-32C

-- ---- chat ----

-- bytes of the per-type fields between nick and text length (docs/CHAT.md)
local function chat_ext_len(t)
	if t == 3 then return 8 end
	if t == 4 or t == 5 or t == 6 then return 17 end
	if t == 10 then return 2 end
	return 0
end

local function chat_valid(buf)
	local len = buf:len()
	if len < 19 or buf(0, 4):string() ~= "UCHT" or buf(4, 1):uint() ~= 2 then
		return false
	end
	local n = buf(16, 1):uint()
	local e = chat_ext_len(buf(5, 1):uint())
	if n < 1 or n > 32 or len < 19 + n + e then
		return false
	end
	return len == 19 + n + e + buf(17 + n + e, 2):uint()
end

local function dissect_peers(buf, tree)
	local off = 0
	while off + 13 <= buf:len() do
		local fam = buf(off + 8, 1):uint()
		local alen = fam == 6 and 16 or 4
		if fam ~= 4 and fam ~= 6 or off + 11 + alen > buf:len() then
			break
		end
		local e = tree:add(chat, buf(off, 11 + alen), "Peer")
		e:add(cf.peer_id, buf(off, 8))
		e:add(cf.peer_family, buf(off + 8, 1))
		e:add(fam == 6 and cf.peer_v6 or cf.peer_v4, buf(off + 9, alen))
		e:add(cf.peer_port, buf(off + 9 + alen, 2))
		off = off + 11 + alen
	end
end

local function dissect_chat(buf, pinfo, tree)
	local n = buf(16, 1):uint()
	local t = buf(5, 1):uint()
	local sub = tree:add(chat, buf(), "udpkit chat")
	sub:add(cf.magic, buf(0, 4))
	sub:add(cf.version, buf(4, 1))
	sub:add(cf.type, buf(5, 1))
	sub:add(cf.id, buf(6, 8))
	sub:add(cf.port, buf(14, 2))
	sub:add(cf.nick_len, buf(16, 1))
	sub:add(cf.nick, buf(17, n))
	local e = chat_ext_len(t)
	if t == 3 then
		sub:add(cf.start, buf(17 + n, 8))
	elseif e == 17 then
		sub:add(cf.seq, buf(17 + n, 8))
		sub:add(cf.ts, buf(25 + n, 8))
		sub:add(cf.line_flags, buf(33 + n, 1))
	elseif t == 10 then
		sub:add(cf.count, buf(17 + n, 2))
	end
	n = n + e
	sub:add(cf.text_len, buf(17 + n, 2))
	local tl = buf(17 + n, 2):uint()
	if tl > 0 then
		local text = buf(19 + n, tl)
		if t == 1 or t == 2 then
			sub:add(cf.padding, text)
		elseif t == 9 then
			dissect_peers(text, sub)
		else
			sub:add(cf.text, text)
		end
	end
	pinfo.cols.protocol = "udpkit chat"
	pinfo.cols.info:append(" " .. (chat_types[t] or "?") .. " " .. buf(17, n - e):string())
end

-- ---- sealed ----

local function seal_valid(buf)
	return buf:len() >= 48 and buf(0, 2):uint() == 0xC553 and buf(2, 1):uint() == 1
end

local function dissect_seal(buf, pinfo, tree)
	local sub = tree:add(seal, buf(), "udpkit sealed datagram")
	sub:add(sf.magic, buf(0, 2))
	sub:add(sf.version, buf(2, 1))
	local fl = sub:add(sf.flags, buf(3, 1))
	fl:add(sf.flag_sealed, buf(3, 1))
	fl:add(sf.flag_gcm, buf(3, 1))
	sub:add(sf.key_id, buf(4, 4))
	sub:add(sf.session, buf(8, 16))
	sub:add(sf.counter, buf(24, 8))
	local n = buf:len() - 48
	sub:add(sf.ct_len, n)
	if n > 0 then
		sub:add(sf.ciphertext, buf(32, n))
	end
	sub:add(sf.tag, buf(32 + n, 16))
	pinfo.cols.protocol = "udpkit sealed"
	pinfo.cols.info = string.format("sealed, key %08x, counter %s, %d bytes",
		buf(4, 4):uint(), tostring(buf(24, 8):uint64()), n)
end

-- ---- reliable ----

local function rel_valid(buf)
	local len = buf:len()
	if len < HDR + TRAILER or buf(0, 1):uint() ~= 0x75 or buf(1, 1):uint() ~= 1 then
		return false
	end
	return rel_types[buf(2, 1):uint()] ~= nil
end

-- The ack block of an open session's packet; returns the offset after it.
local function dissect_ackblock(buf, tree)
	if buf:len() < 29 + TRAILER then
		return nil
	end
	tree:add(rf.ts, buf(12, 4))
	tree:add(rf.ts_echo, buf(16, 4))
	tree:add(rf.window, buf(20, 4))
	tree:add(rf.cum_ack, buf(24, 4))
	local n = buf(28, 1):uint()
	tree:add(rf.nsack, buf(28, 1))
	if 29 + 4 * n + TRAILER > buf:len() then
		return nil
	end
	for i = 0, n - 1 do
		tree:add(rf.sack, buf(29 + 4 * i, 4))
	end
	return 29 + 4 * n
end

local function dissect_rel(buf, pinfo, tree)
	local len = buf:len()
	local t = buf(2, 1):uint()
	local sub = tree:add(rel, buf(), "udpkit reliable, " .. rel_types[t])
	sub:add(rf.magic, buf(0, 1))
	sub:add(rf.version, buf(1, 1))
	sub:add(rf.type, buf(2, 1))
	local fl = sub:add(rf.flags, buf(3, 1))
	fl:add(rf.flag_echo, buf(3, 1))
	fl:add(rf.flag_fin, buf(3, 1))
	fl:add(rf.flag_seqpacket, buf(3, 1))
	fl:add(rf.flag_part, buf(3, 1))
	sub:add(rf.dst, buf(4, 4))
	sub:add(rf.src, buf(8, 4))
	local body = len - TRAILER
	local info = rel_types[t]
	if t == 1 then
		if body > HDR then
			sub:add(rf.padding, buf(HDR, body - HDR))
		end
	elseif t == 2 and len >= 28 then
		sub:add(rf.bucket, buf(12, 4))
		sub:add(rf.cookie, buf(16, 8))
	elseif t == 3 and len >= 44 then
		sub:add(rf.bucket, buf(12, 4))
		sub:add(rf.cookie, buf(16, 8))
		sub:add(rf.init_seq, buf(24, 4))
		sub:add(rf.window_pkts, buf(28, 4))
		sub:add(rf.max_msg, buf(32, 4))
		sub:add(rf.budget, buf(36, 4))
	elseif t == 4 and len >= 32 then
		sub:add(rf.init_seq, buf(12, 4))
		sub:add(rf.window_pkts, buf(16, 4))
		sub:add(rf.max_msg, buf(20, 4))
		sub:add(rf.budget, buf(24, 4))
	elseif (t == 9 or t == 10) and len >= 24 then
		sub:add(rf.path_token, buf(12, 8))
	elseif t == 11 then
		dissect_ackblock(buf, sub) -- then the probe number, its echo, padding
	elseif t >= 5 and t <= 8 then
		local a = dissect_ackblock(buf, sub)
		if a then
			info = info .. " ack=" .. buf(24, 4):uint()
			if t == 5 and a + 20 <= body then
				sub:add(rf.seq, buf(a, 4))
				sub:add(rf.msg_len, buf(a + 4, 4))
				sub:add(rf.frag_off, buf(a + 8, 4))
				sub:add(rf.frag_index, buf(a + 12, 4))
				sub:add(rf.frag_count, buf(a + 16, 4))
				info = info .. " seq=" .. buf(a, 4):uint()
				local p = a + 20
				if body > p then
					local pl = buf(p, body - p)
					sub:add(rf.payload, pl)
					-- a chat packet travels whole in its message's first fragment
					if buf(a + 12, 4):uint() == 0 and chat_valid(pl:tvb()) then
						dissect_chat(pl:tvb(), pinfo, tree)
						info = info .. " [chat]"
					end
				end
			elseif t == 8 and a + 4 <= body then
				sub:add(rf.dgram_seq, buf(a, 4))
				if body > a + 4 then
					local pl = buf(a + 4, body - a - 4)
					sub:add(rf.payload, pl)
					if chat_valid(pl:tvb()) then
						dissect_chat(pl:tvb(), pinfo, tree)
						info = info .. " [chat]"
					end
				end
			end
		end
	end
	sub:add(rf.crc, buf(len - TRAILER, TRAILER))
	if pinfo.cols.protocol ~= "udpkit chat" then
		pinfo.cols.protocol = "udpkit"
	end
	if pinfo.cols.info and tostring(pinfo.cols.info):find("^udpkit") then
		pinfo.cols.info:append("; " .. info)
	else
		pinfo.cols.info = "udpkit " .. info
	end
end

-- With UDP GSO the sender hands the kernel one buffer of equal-size
-- datagrams (the last may be shorter), and a capture on the sending host
-- (lo included) sees that buffer as one frame. udpkit's formats have no
-- length field, so the segment size is found as the smallest S at which
-- every multiple of S starts a header of the same format.
local function header_at(buf, off, magic2)
	if off + 16 > buf:len() then
		return false
	end
	if magic2 == 0x7501 then
		local t = buf(off + 2, 1):uint()
		return buf(off, 2):uint() == 0x7501 and t >= 1 and t <= 11 and
			bit.band(buf(off + 3, 1):uint(), 0xf0) == 0
	end
	return buf(off, 2):uint() == 0xC553 and buf(off + 2, 1):uint() == 1 and
		bit.band(buf(off + 3, 1):uint(), 0xfc) == 0
end

local function segment_size(buf, magic2, min)
	local len = buf:len()
	for s = min, len - 16 do
		if header_at(buf, s, magic2) then
			local ok, m = true, 2 * s
			while m < len do
				if not header_at(buf, m, magic2) then
					ok = false
					break
				end
				m = m + s
			end
			if ok then
				return s
			end
		end
	end
	return len
end

local function each_segment(buf, pinfo, tree, magic2, min, fn)
	local len = buf:len()
	local s = segment_size(buf, magic2, min)
	local off = 0
	while off < len do
		local n = math.min(s, len - off)
		fn(buf(off, n):tvb(), pinfo, tree)
		off = off + n
	end
	if s < len then
		pinfo.cols.info:append(string.format(" (GSO: %d segments of %d bytes)",
			math.ceil(len / s), s))
	end
end

local function heuristic(buf, pinfo, tree)
	if rel_valid(buf) then
		each_segment(buf, pinfo, tree, 0x7501, HDR + TRAILER, dissect_rel)
	elseif seal_valid(buf) then
		each_segment(buf, pinfo, tree, 0xC553, 48, dissect_seal)
	elseif chat_valid(buf) then
		dissect_chat(buf, pinfo, tree)
	else
		return false
	end
	return true
end

rel:register_heuristic("udp", heuristic)
