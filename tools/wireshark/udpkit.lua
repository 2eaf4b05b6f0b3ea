-- udpkit.lua - Wireshark/tshark dissector for udpkit's datagrams:
--   the reliable protocol (docs/PROTOCOL.md, first byte 0x75), with the
--   Noise messages of identity sessions (CONNECT/ACCEPT flag NOISE) and
--   their SEALED packets (type 12: header only, never decrypted),
--   the sealed header (docs/SEALING.md, magic C5 53; the body stays opaque),
--   udpchat packets (docs/CHAT.md, magic "UCHT", versions 2 and 3: the
--   identity key in base64 as udpkey prints it), bare or inside a reliable
--   message's first fragment.
-- Malformed packets get expert info (filter: _ws.expert or udpkit.malformed).
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
	[12] = "SEALED",
}
-- flags each type may carry (docs/PROTOCOL.md 2.1, 9.2)
local rel_flags_ok = {
	[1] = 0, [2] = 0, [3] = 0x10, [4] = 0x10, [5] = 0x0f, [6] = 0x01,
	[7] = 0x01, [8] = 0x01, [9] = 0, [10] = 0, [11] = 0x01, [12] = 0x01,
}
local chat_types = {
	[1] = "BEACON", [2] = "LEAVE", [3] = "HELLO", [4] = "MSG", [5] = "PRIV",
	[6] = "ME", [7] = "NICK", [8] = "BYE", [9] = "PEERS", [10] = "HISTORY",
	[11] = "FILE_OFFER", [12] = "FILE_ACCEPT", [13] = "FILE_DATA", [14] = "FILE_CANCEL",
}
local file_reasons = {
	[1] = "done", [2] = "refused", [3] = "cancelled", [4] = "failed", [5] = "too big",
	[6] = "busy",
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
	flag_noise = ProtoField.bool("udpkit.flags.noise", "NOISE", 8, nil, 0x10),
	flag_phase = ProtoField.uint8("udpkit.flags.key_phase", "Key phase", base.DEC, nil, 0x01),
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
	-- identity sessions (docs/PROTOCOL.md section 9)
	noise = ProtoField.bytes("udpkit.noise", "Noise message"),
	noise_len = ProtoField.uint32("udpkit.noise.len", "Noise message length"),
	noise_msg = ProtoField.uint8("udpkit.noise.msg", "Noise message number"),
	noise_e = ProtoField.bytes("udpkit.noise.ephemeral", "Ephemeral public key (clear)"),
	noise_s = ProtoField.bytes("udpkit.noise.static", "Static public key, encrypted, and its tag"),
	noise_p = ProtoField.bytes("udpkit.noise.payload", "Payload, encrypted"),
	noise_p_len = ProtoField.uint32("udpkit.noise.payload_len", "Payload length"),
	noise_tag = ProtoField.bytes("udpkit.noise.tag", "Payload tag"),
	counter = ProtoField.uint64("udpkit.counter", "Counter"),
	ciphertext = ProtoField.bytes("udpkit.ciphertext", "Ciphertext (an inner packet)"),
	ct_len = ProtoField.uint32("udpkit.ciphertext_len", "Ciphertext length"),
	tag = ProtoField.bytes("udpkit.tag", "Tag"),
}
rel.fields = {}
for _, f in pairs(rf) do table.insert(rel.fields, f) end

local ex_malformed = ProtoExpert.new("udpkit.malformed", "Malformed udpkit packet",
	expert.group.MALFORMED, expert.severity.ERROR)
rel.experts = { ex_malformed }
local ex_chat_malformed = ProtoExpert.new("udpkit_chat.malformed", "Malformed udpkit chat packet",
	expert.group.MALFORMED, expert.severity.ERROR)
chat.experts = { ex_chat_malformed }

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
	peer_key = ProtoField.bytes("udpkit_chat.peer.key", "Peer public key"),
	peer_key_b64 = ProtoField.string("udpkit_chat.peer.key_b64", "Peer public key (base64)"),
	key = ProtoField.bytes("udpkit_chat.key", "Identity public key"),
	key_b64 = ProtoField.string("udpkit_chat.key_b64", "Identity public key (base64)"),
	fid = ProtoField.uint32("udpkit_chat.file.fid", "File transfer id", base.HEX),
	fsize = ProtoField.uint64("udpkit_chat.file.size", "File size"),
	fsha = ProtoField.bytes("udpkit_chat.file.sha256", "File SHA-256"),
	foff = ProtoField.uint64("udpkit_chat.file.offset", "Chunk offset"),
	fmine = ProtoField.uint8("udpkit_chat.file.mine", "Sender's own offer"),
	freason = ProtoField.uint8("udpkit_chat.file.reason", "Reason", base.DEC, file_reasons),
	fname = ProtoField.string("udpkit_chat.file.name", "File name"),
	fdata = ProtoField.bytes("udpkit_chat.file.data", "File bytes"),
}
chat.fields = {}
for _, f in pairs(cf) do table.insert(chat.fields, f) end

local HDR = 12      -- common header of the reliable protocol
local TRAILER = 4   -- CRC-32C

-- ---- chat ----

-- The key as udpkey and the known-peers file print it (standard base64):
-- Wireshark's Lua has no BLAKE2b, so no fingerprint.
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(r)
	local out, n = {}, r:len()
	for i = 0, n - 1, 3 do
		local k = math.min(3, n - i)
		local v = bit.lshift(r(i, k):uint(), 8 * (3 - k))
		for j = 0, 3 do
			if j <= k then
				local c = bit.band(bit.rshift(v, 18 - 6 * j), 63)
				out[#out + 1] = B64:sub(c + 1, c + 1)
			else
				out[#out + 1] = "="
			end
		end
	end
	return table.concat(out)
end

local function all_zero(r)
	for i = 0, r:len() - 1 do
		if r(i, 1):uint() ~= 0 then
			return false
		end
	end
	return true
end

local KEY = 32 -- an identity public key (X25519)

-- types whose version 3 carries the sender's key after the per-type fields
local function chat_has_key(t)
	return t == 1 or t == 2 or t == 3
end

-- bytes of the per-type fields between nick and text length (docs/CHAT.md)
local function chat_ext_len(t, v)
	local e = 0
	if t == 3 then e = 8
	elseif t == 4 or t == 5 or t == 6 then e = 17
	elseif t == 10 then e = 2
	elseif t == 11 then e = 44
	elseif t == 12 then e = 4
	elseif t == 13 then e = 12
	elseif t == 14 then e = 6
	end
	if v == 3 and chat_has_key(t) then
		e = e + KEY
	end
	return e
end

local function chat_valid(buf)
	local len = buf:len()
	if len < 19 or buf(0, 4):string() ~= "UCHT" then
		return false
	end
	local v, t = buf(4, 1):uint(), buf(5, 1):uint()
	if v ~= 2 and v ~= 3 or chat_types[t] == nil then
		return false
	end
	local n = buf(16, 1):uint()
	local e = chat_ext_len(t, v)
	if n < 1 or n > 32 or len < 19 + n + e then
		return false
	end
	return len == 19 + n + e + buf(17 + n + e, 2):uint()
end

local function add_key(tree, r, f, fb)
	tree:add(f, r)
	local k = tree:add(fb, r, base64(r))
	if all_zero(r) then
		k:add_proto_expert_info(ex_chat_malformed, "an all-zero key (rejected)")
	end
end

local function dissect_peers(buf, tree, keyed)
	local off, len = 0, buf:len()
	local kl = keyed and KEY or 0
	while off < len do
		local fam = off + 9 <= len and buf(off + 8, 1):uint() or 0
		local alen = fam == 6 and 16 or 4
		local el = 11 + alen + kl
		if fam ~= 4 and fam ~= 6 or off + el > len then
			tree:add(chat, buf(off, len - off), "Peer (truncated or bad family)")
				:add_proto_expert_info(ex_chat_malformed, "bad peer list entry")
			break
		end
		local e = tree:add(chat, buf(off, el), "Peer")
		e:add(cf.peer_id, buf(off, 8))
		e:add(cf.peer_family, buf(off + 8, 1))
		e:add(fam == 6 and cf.peer_v6 or cf.peer_v4, buf(off + 9, alen))
		e:add(cf.peer_port, buf(off + 9 + alen, 2))
		if keyed then
			add_key(e, buf(off + 11 + alen, KEY), cf.peer_key, cf.peer_key_b64)
		end
		off = off + el
	end
end

local function dissect_chat(buf, pinfo, tree)
	local n = buf(16, 1):uint()
	local v, t = buf(4, 1):uint(), buf(5, 1):uint()
	local sub = tree:add(chat, buf(), "udpkit chat")
	sub:add(cf.magic, buf(0, 4))
	sub:add(cf.version, buf(4, 1))
	sub:add(cf.type, buf(5, 1))
	sub:add(cf.id, buf(6, 8))
	sub:add(cf.port, buf(14, 2))
	sub:add(cf.nick_len, buf(16, 1))
	sub:add(cf.nick, buf(17, n))
	local e = chat_ext_len(t, v)
	local x = 17 + n -- the per-type fields
	if t == 3 then
		sub:add(cf.start, buf(x, 8))
	elseif t >= 4 and t <= 6 then
		sub:add(cf.seq, buf(x, 8))
		sub:add(cf.ts, buf(x + 8, 8))
		sub:add(cf.line_flags, buf(x + 16, 1))
	elseif t == 10 then
		sub:add(cf.count, buf(x, 2))
	elseif t >= 11 then
		sub:add(cf.fid, buf(x, 4))
		if t == 11 then
			sub:add(cf.fsize, buf(x + 4, 8))
			sub:add(cf.fsha, buf(x + 12, 32))
		elseif t == 13 then
			sub:add(cf.foff, buf(x + 4, 8))
		elseif t == 14 then
			sub:add(cf.fmine, buf(x + 4, 1))
			sub:add(cf.freason, buf(x + 5, 1))
		end
	end
	if v == 3 and chat_has_key(t) then
		add_key(sub, buf(x + e - KEY, KEY), cf.key, cf.key_b64)
	end
	sub:add(cf.text_len, buf(x + e, 2))
	local tl = buf(x + e, 2):uint()
	if tl > 0 then
		local text = buf(x + e + 2, tl)
		if t == 1 or t == 2 then
			sub:add(cf.padding, text)
		elseif t == 9 then
			dissect_peers(text, sub, v == 3)
		elseif t == 11 then
			sub:add(cf.fname, text)
		elseif t == 13 then
			sub:add(cf.fdata, text)
		else
			sub:add(cf.text, text)
		end
	end
	pinfo.cols.protocol = "udpkit chat"
	pinfo.cols.info:append(" " .. (chat_types[t] or "?") .. (v == 3 and " v3 " or " ") ..
		buf(17, n):string())
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

local function malformed(item, why)
	item:add_proto_expert_info(ex_malformed, why)
end

-- The ack block of an open session's packet; returns the offset after it.
local function dissect_ackblock(buf, tree)
	if buf:len() < 29 + TRAILER then
		malformed(tree, "too short for the ack block")
		return nil
	end
	tree:add(rf.ts, buf(12, 4))
	tree:add(rf.ts_echo, buf(16, 4))
	tree:add(rf.window, buf(20, 4))
	tree:add(rf.cum_ack, buf(24, 4))
	local n = buf(28, 1):uint()
	tree:add(rf.nsack, buf(28, 1))
	if 29 + 4 * n + TRAILER > buf:len() then
		malformed(tree, "selective-ack words past the end")
		return nil
	end
	for i = 0, n - 1 do
		tree:add(rf.sack, buf(29 + 4 * i, 4))
	end
	return 29 + 4 * n
end

-- A Noise message (docs/PROTOCOL.md 9.3) between a CONNECT's or ACCEPT's
-- fixed fields and its CRC: message 1 is e, s (encrypted, tagged), payload
-- and tag; message 2 is e, payload and tag. Returns a word for the info.
local function dissect_noise(buf, off, tree, msg)
	local m = buf:len() - TRAILER - off
	local r = buf(off, m)
	local min = msg == 1 and 96 or 48
	local nt = tree:add(rf.noise, r)
	nt:add(rf.noise_len, buf(off, 0), m)
	nt:add(rf.noise_msg, buf(off, 0), msg)
	if m < min then
		malformed(nt, string.format("Noise message %d of %d bytes (at least %d)", msg, m, min))
		return " noise=" .. m
	end
	nt:add(rf.noise_e, r(0, 32))
	local p = 32
	if msg == 1 then
		nt:add(rf.noise_s, r(32, 48))
		p = 80
	end
	local pl = m - p - 16
	nt:add(rf.noise_p_len, buf(off + p, 0), pl)
	if pl > 0 then
		nt:add(rf.noise_p, r(p, pl))
	end
	nt:add(rf.noise_tag, r(m - 16, 16))
	return string.format(" noise msg%d (%d bytes)", msg, m)
end

-- SEALED (docs/PROTOCOL.md 9.2): the header only; no key, no decryption.
local function dissect_sealed(buf, sub)
	local len = buf:len()
	if len < 20 + 16 then
		malformed(sub, "SEALED shorter than its header and tag")
		return ""
	end
	sub:add(rf.counter, buf(12, 8))
	local n = len - 36
	sub:add(rf.ct_len, buf(20, n), n)
	if n > 0 then
		sub:add(rf.ciphertext, buf(20, n))
	end
	sub:add(rf.tag, buf(len - 16, 16))
	if n < HDR + TRAILER then
		malformed(sub, "ciphertext shorter than any inner packet (16)")
	end
	if buf(4, 4):uint() == 0 or buf(8, 4):uint() == 0 then
		malformed(sub, "a zero session id")
	end
	return string.format(" ctr=%s phase=%d len=%d", tostring(buf(12, 8):uint64()),
		bit.band(buf(3, 1):uint(), 1), n)
end

local function dissect_rel(buf, pinfo, tree)
	local len = buf:len()
	local t = buf(2, 1):uint()
	local f = buf(3, 1):uint()
	local sub = tree:add(rel, buf(), "udpkit reliable, " .. rel_types[t])
	sub:add(rf.magic, buf(0, 1))
	sub:add(rf.version, buf(1, 1))
	sub:add(rf.type, buf(2, 1))
	local fl = sub:add(rf.flags, buf(3, 1))
	if t == 12 then
		fl:add(rf.flag_phase, buf(3, 1))
	else
		fl:add(rf.flag_echo, buf(3, 1))
		fl:add(rf.flag_fin, buf(3, 1))
		fl:add(rf.flag_seqpacket, buf(3, 1))
		fl:add(rf.flag_part, buf(3, 1))
		fl:add(rf.flag_noise, buf(3, 1))
	end
	if bit.band(f, bit.bnot(rel_flags_ok[t])) ~= 0 then
		malformed(fl, string.format("flags 0x%02x not allowed on %s", f, rel_types[t]))
	end
	sub:add(rf.dst, buf(4, 4))
	sub:add(rf.src, buf(8, 4))
	local body = len - TRAILER
	local info = rel_types[t]
	local noise = bit.band(f, 0x10) ~= 0
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
		if noise then
			info = info .. dissect_noise(buf, 40, sub, 1)
		elseif len ~= 44 then
			malformed(sub, "bytes left over after the CONNECT's fields")
		end
	elseif t == 4 and len >= 32 then
		sub:add(rf.init_seq, buf(12, 4))
		sub:add(rf.window_pkts, buf(16, 4))
		sub:add(rf.max_msg, buf(20, 4))
		sub:add(rf.budget, buf(24, 4))
		if noise then
			info = info .. dissect_noise(buf, 28, sub, 2)
		elseif len ~= 32 then
			malformed(sub, "bytes left over after the ACCEPT's fields")
		end
	elseif (t == 9 or t == 10) and len >= 24 then
		sub:add(rf.path_token, buf(12, 8))
	elseif t == 11 then
		dissect_ackblock(buf, sub) -- then the probe number, its echo, padding
	elseif t == 12 then
		info = info .. dissect_sealed(buf, sub)
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
			elseif t == 5 then
				malformed(sub, "too short for the DATA fields")
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
			elseif t == 8 then
				malformed(sub, "too short for the DGRAM fields")
			end
		end
	elseif t >= 2 and t <= 4 or t == 9 or t == 10 then
		malformed(sub, rel_types[t] .. " too short")
	end
	if t ~= 12 then -- a SEALED packet's tag authenticates it: no CRC
		sub:add(rf.crc, buf(len - TRAILER, TRAILER))
	end
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
		return buf(off, 2):uint() == 0x7501 and t >= 1 and t <= 12 and
			bit.band(buf(off + 3, 1):uint(), 0xe0) == 0
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
