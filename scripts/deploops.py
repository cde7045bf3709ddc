#!/usr/bin/env python3
# deploops.py - find dependency loops between lkvm's source files.
#
# A file depends on another when its object refers to a symbol the other
# object defines (nm: undefined here, defined there).  That is the
# dependency that matters for layering: who calls whom, not who includes
# which header.  Loops are the strongly connected components of that
# graph with more than one file (Tarjan).  Prints each loop and exits 1
# if there is any; 0 otherwise.
#
#   scripts/deploops.py OBJ...          (make deploops runs it)
import subprocess, sys

def symbols(obj):
	out = subprocess.run(['nm', obj], capture_output=True, text=True,
			     check=True).stdout
	defined, undefined = set(), set()
	for line in out.splitlines():
		parts = line.split()
		if len(parts) == 2 and parts[0] == 'U':
			undefined.add(parts[1])
		elif len(parts) == 3 and parts[1] in 'TDBRVWG':
			defined.add(parts[2])
	return defined, undefined

def graph(objs):
	owner, needs = {}, {}
	for o in objs:
		d, u = symbols(o)
		needs[o] = u
		for s in d:
			owner[s] = o
	return {o: sorted({owner[s] for s in needs[o] if s in owner} - {o})
		for o in objs}

def loops(g):
	index, low, stack, on, out = {}, {}, [], set(), []
	def visit(v):
		index[v] = low[v] = len(index)
		stack.append(v); on.add(v)
		for w in g[v]:
			if w not in index:
				visit(w)
				low[v] = min(low[v], low[w])
			elif w in on:
				low[v] = min(low[v], index[w])
		if low[v] == index[v]:
			scc = []
			while True:
				w = stack.pop(); on.discard(w); scc.append(w)
				if w == v:
					break
			if len(scc) > 1:
				out.append(sorted(scc))
	sys.setrecursionlimit(10000)
	for v in g:
		if v not in index:
			visit(v)
	return out

def main():
	objs = sys.argv[1:]
	g = graph(objs)
	found = loops(g)
	for scc in found:
		print('dependency loop: ' + ' '.join(scc))
		for v in scc:
			print('  %s -> %s' % (v, ' '.join(w for w in g[v] if w in scc)))
	print('%d files, %d loops' % (len(objs), len(found)))
	return 1 if found else 0

sys.exit(main())
