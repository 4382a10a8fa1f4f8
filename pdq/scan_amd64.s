//go:build amd64 && !purego

#include "textflag.h"

// func scanPopcnt(hs *Hash, n int, q *Hash, radius int, ids *uint32) int
//
// For i in [0, n): if the Hamming distance between hs[i] and *q is at most
// radius, store i at ids[k] and increment k. Return k. The first two words
// are counted first, and the last two only when those are within radius.
TEXT ·scanPopcnt(SB), NOSPLIT, $0-48
	MOVQ hs+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ q+16(FP), DI
	MOVQ radius+24(FP), R8
	MOVQ ids+32(FP), R9
	MOVQ 0(DI), R11
	MOVQ 8(DI), R12
	MOVQ 16(DI), R13
	MOVQ 24(DI), DI
	XORQ DX, DX // i
	XORQ AX, AX // k

loop:
	CMPQ DX, CX
	JGE  done
	MOVQ 0(SI), BX
	XORQ R11, BX
	POPCNTQ BX, BX
	MOVQ 8(SI), R10
	XORQ R12, R10
	POPCNTQ R10, R10
	ADDQ R10, BX
	CMPQ BX, R8
	JGT  next
	MOVQ 16(SI), R10
	XORQ R13, R10
	POPCNTQ R10, R10
	ADDQ R10, BX
	MOVQ 24(SI), R10
	XORQ DI, R10
	POPCNTQ R10, R10
	ADDQ R10, BX
	CMPQ BX, R8
	JGT  next
	MOVL DX, (R9)(AX*4)
	INCQ AX

next:
	ADDQ $32, SI
	INCQ DX
	JMP  loop

done:
	MOVQ AX, ret+40(FP)
	RET

// func filterPopcnt(hs *Hash, ids *uint32, n int, q *Hash, radius int, out *uint32) int
//
// For i in [0, n): if hs[ids[i]] is within radius of *q, store ids[i] at
// out[k] and increment k (k <= i, so out may be ids). Return k.
TEXT ·filterPopcnt(SB), NOSPLIT, $0-56
	MOVQ hs+0(FP), SI
	MOVQ ids+8(FP), R9
	MOVQ n+16(FP), CX
	MOVQ q+24(FP), DI
	MOVQ out+40(FP), R13
	MOVQ 0(DI), R11
	MOVQ 8(DI), R12
	XORQ DX, DX // i
	XORQ AX, AX // k

floop:
	CMPQ DX, CX
	JGE  fdone
	// Prefetch the hash 16 candidates ahead: the IDs are known in advance,
	// so the memory accesses need not wait for each other.
	LEAQ 16(DX), BX
	CMPQ BX, CX
	JGE  fnopf
	MOVL (R9)(BX*4), BX
	SHLQ $5, BX
	PREFETCHT0 (SI)(BX*1)

fnopf:
	MOVL (R9)(DX*4), R10 // id, zero-extended
	SHLQ $5, R10
	ADDQ SI, R10         // &hs[id]
	MOVQ 0(R10), BX
	XORQ R11, BX
	POPCNTQ BX, BX
	MOVQ 8(R10), R8
	XORQ R12, R8
	POPCNTQ R8, R8
	ADDQ R8, BX
	CMPQ BX, radius+32(FP)
	JGT  fnext
	MOVQ 16(R10), R8
	XORQ 16(DI), R8
	POPCNTQ R8, R8
	ADDQ R8, BX
	MOVQ 24(R10), R8
	XORQ 24(DI), R8
	POPCNTQ R8, R8
	ADDQ R8, BX
	CMPQ BX, radius+32(FP)
	JGT  fnext
	MOVL (R9)(DX*4), R8
	MOVL R8, (R13)(AX*4)
	INCQ AX

fnext:
	INCQ DX
	JMP  floop

fdone:
	MOVQ AX, ret+48(FP)
	RET
