"""Querysets whose SQL is compiled once per process, for the few reads every request makes.

Django builds and compiles a queryset's SQL again on every call: for a `UNION ALL` over a
visit's CRF tables or a user's permissions, that Python work costs several times the database's
own (issue 24, docs/performance.md). A `PreparedRows` builds its queryset once, with marker
values where the arguments go, keeps the SQL and the compiler, and then runs it with each
call's arguments: the same statement, on the database the router gives for the model, through
the connection's cursor (so query capture and execute wrappers see it as any other); the rows
(a `values_list` queryset) or the model instances, with their `select_related` objects and
annotations, converted by the kept compiler as Django converts them.

Only for a queryset whose shape does not depend on its arguments (each argument only a
parameter value, never None; a different shape, e.g. another list of CRF tables, is another
key), without `prefetch_related` (call `prefetch_related_objects` on the instances), and with
`for_write=True` when it locks (`select_for_update`).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, NamedTuple, TypeVar

import psycopg
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler

# The values standing for the arguments while the SQL is compiled: two sets, compiled apart, so
# that the parameters where the two compilations differ are exactly the arguments' places (a
# literal of the query equal to a marker cannot be mistaken for one). Integers within a small
# integer column's range (Django refuses a value out of the column's range before the database
# sees it). Aware datetimes in the year 2999, a microsecond apart.
_MARKER_SETS = (30_011, 31_013)
_DATETIME_MARKER = datetime(2999, 1, 1, tzinfo=UTC)


def _marker(kind: str, base: int, index: int) -> int | str | datetime:
    if kind == "int":
        return base + index
    if kind == "datetime":
        return _DATETIME_MARKER + timedelta(microseconds=base + index)
    return f"\x1fprepared-{base}-{index}"


M = TypeVar("M", bound=Model)


class PreparedRows(Generic[M]):
    """`build(key, *markers)` returns the queryset for the shape `key`; `rows(key, *args)` runs
    its SQL with `args` in the markers' places and returns its rows (a `values_list`
    queryset), `objects(key, *args)` its model instances (a queryset of the model, with its
    `select_related` and annotations), each converted from the database's values as Django
    does (the compiler kept from the compilation converts them)."""

    def __init__(
        self,
        model: type[M],
        build: Callable[..., QuerySet],
        kinds: tuple[str, ...],
        *,
        for_write: bool = False,
    ) -> None:
        self.model = model
        # A select_for_update() queryset: its database is the router's for writes, as Django's.
        self.for_write = for_write
        self.build = build
        self.kinds = kinds  # "int", "text" or "datetime" (aware), one per argument
        self._compiled: dict[tuple[str, Hashable], _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str, key: Hashable) -> _Compiled:
        compiled = []
        for base in _MARKER_SETS:
            markers = [_marker(kind, base, i) for i, kind in enumerate(self.kinds)]
            queryset = self.build(key, *markers)
            if queryset._prefetch_related_lookups:
                # Not run by a statement of its own here: it would be silently left out.
                raise ValueError(f"{self.build!r}: prefetch_related_objects() after, instead")
            if queryset._for_write != self.for_write:
                raise ValueError(f"{self.build!r}: for_write={queryset._for_write} expected")
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            compiled.append((sql, list(params), markers, compiler))
        (sql, params, markers, compiler), (other_sql, other_params, other_markers, _) = compiled
        if sql != other_sql or len(params) != len(other_params):
            raise ValueError(f"{self.build!r}: the SQL's shape depends on its arguments")
        slots: list[Any] = []
        for param, other in zip(params, other_params, strict=True):
            if param == other:
                slots.append(param)
                continue
            if param not in markers or markers.index(param) != other_markers.index(other):
                raise ValueError(f"{self.build!r}: a parameter that is not an argument varies")
            slots.append(_Argument(markers.index(param)))
        # An argument the shape `key` does not use is simply not among the parameters; one
        # written into the SQL's text rather than passed as a parameter made the two texts
        # differ, refused above.
        # The columns' converters, found once too (Django's results_iter finds them again for
        # every statement: a tenth of the CRF save's CPU, issue 24). They depend on the columns
        # and the alias's backend, not on the connection: Django passes it to each converter.
        columns = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = compiler.get_converters(columns)
        return _Compiled(
            sql, slots, compiler, converters, columns, compiler.has_composite_fields(columns)
        )

    def _statement(
        self, key: Hashable, args: tuple, using: str | None
    ) -> tuple[str, _Compiled, list[Any]]:
        """The alias, the compiled statement of the shape `key` and its parameters for `args`."""
        if len(args) != len(self.kinds):
            raise TypeError(f"{len(self.kinds)} arguments expected, {len(args)} given")
        if using is not None:
            alias = using
        elif self.for_write:
            alias = router.db_for_write(self.model)
        else:
            alias = router.db_for_read(self.model)
        compiled = self._compiled.get((alias, key))
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get((alias, key)) or self._compile(alias, key)
                self._compiled[(alias, key)] = compiled
        params = [args[s.index] if isinstance(s, _Argument) else s for s in compiled.slots]
        return alias, compiled, params

    @staticmethod
    def _converted(alias: str, compiled: _Compiled, fetched: list) -> tuple[SQLCompiler, Any]:
        # The compiler kept (its columns and converters), bound to this thread's connection.
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connections[alias]
        # The rows as Django's results_iter converts them, with the converters found once.
        rows: Any = fetched
        if compiled.converters:
            rows = compiler.apply_converters(rows, compiled.converters)
        if compiled.composite:
            rows = compiler.composite_fields_to_tuples(rows, compiled.columns)
        return compiler, rows

    def _run(self, key: Hashable, args: tuple, using: str | None) -> tuple[str, SQLCompiler, Any]:
        alias, compiled, params = self._statement(key, args, using)
        with connections[alias].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        compiler, rows = self._converted(alias, compiled, fetched)
        return alias, compiler, rows

    def rows(self, key: Hashable, *args: Any, using: str | None = None) -> list[tuple]:
        _alias, _compiler, rows = self._run(key, args, using)
        return list(map(tuple, rows))

    def objects(self, key: Hashable, *args: Any, using: str | None = None) -> list[M]:
        """As Django's ModelIterable makes them (select_related objects and annotations)."""
        alias, compiler, rows = self._run(key, args, using)
        return self._instances(alias, compiler, rows)

    def _instances(self, alias: str, compiler: SQLCompiler, rows: Any) -> list[M]:
        select, klass_info = compiler.select, compiler.klass_info
        annotations = compiler.annotation_col_map
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        names = [f[0].target.attname for f in select[start:end]]
        populators = get_related_populators(klass_info, select, alias)
        found: list[M] = []
        for row in rows:
            obj = klass_info["model"].from_db(alias, names, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in (annotations or {}).items():
                setattr(obj, name, row[position])
            found.append(obj)
        return found


class Read(NamedTuple):
    """One read of `read_together`: `prepared.objects(key, *args)` (`objects=True`) or
    `prepared.rows(key, *args)`."""

    prepared: PreparedRows[Any]
    key: Hashable
    args: tuple
    objects: bool = True

    def run(self) -> list[Any]:
        """This read alone, in its own round trip: what `read_together` gives for it."""
        if self.objects:
            return self.prepared.objects(self.key, *self.args)
        return self.prepared.rows(self.key, *self.args)


def read_together(reads: Sequence[Read]) -> list[list[Any]]:
    """The results of `reads`, in their order, as each one's `objects` or `rows` gives them, from
    one round trip to the database: their statements sent in one message, one after the other
    (issue 24: a CRF save's reads after its write).

    The same statements, run by PostgreSQL in the same order and with the same meaning as one by
    one: each statement of a multi-statement query takes its own snapshot (under READ COMMITTED,
    a later one sees what committed meanwhile, as a separate round trip would), its row locks
    are taken in turn, and a failing one ends the message with its error (the transaction
    aborted, as it would be). Only what Python does between them is gone: so only for reads
    none of whose arguments depends on another's rows. Query capture sees one query (the
    statements joined). Where parameters are bound by the server (OPTIONS server_side_binding,
    which refuses several statements in one message), or the reads go to different databases,
    they run one by one."""
    if not reads:
        return []
    statements = _statements(reads)
    alias = _one_alias(statements)
    fetched: list[list] = []
    together = False
    if alias is not None:
        with connections[alias].cursor() as cursor:
            together = isinstance(cursor.cursor, psycopg.ClientCursor)
            if together:
                sql, params = _joined(statements)
                cursor.execute(sql, params)
                fetched = _fetched(cursor.cursor, len(statements))
    if not together:
        return [read.run() for read in reads]
    return _results(reads, statements, fetched)


@contextmanager
def read_before_next(reads: Sequence[Read], *, starting: str) -> Iterator[list[list[Any]]]:
    """`read_together(reads)` sent in the message of the next statement run inside the block on
    their database whose SQL starts with `starting`, before it (issue 24: a CRF save's reads
    after its write, with the audit row's INSERT that the library runs next). The list yielded
    holds their results once that statement has run; if none ran, they are read alone when the
    block ends (nothing is read when it raises).

    As read_together, with that statement last in the message: the caller (Django, the library)
    gets that statement's own result, row count and returned columns, as if it had run alone,
    and query capture sees the message. Each statement keeps its own snapshot and its order in
    the message; so only for reads whose arguments are known when the block starts and whose
    rows that statement cannot change (and which cannot change what it does): what the caller
    asserts. The statement is run through Django's documented `execute_wrapper`; one run with
    `executemany`, without parameters, or where the server binds parameters is left alone."""
    results: list[list[Any]] = []
    statements = _statements(reads) if reads else []
    alias = _one_alias(statements) if reads else None
    if alias is None:
        yield results
        results[:] = [read.run() for read in reads]
        return
    sent = False

    def send_with(execute, sql, params, many, context):
        nonlocal sent
        cursor = context["cursor"].cursor
        if (
            sent
            or many
            or params is None
            or not sql.startswith(starting)
            or not isinstance(cursor, psycopg.ClientCursor)
        ):
            return execute(sql, params, many, context)
        sent = True
        reads_sql, reads_params = _joined(statements)
        returned = execute(f"{reads_sql};\n{sql}", [*reads_params, *params], many, context)
        fetched = _fetched(cursor, len(statements))
        if not cursor.nextset():
            raise RuntimeError("read_before_next: no result for the statement after the reads")
        results[:] = _results(reads, statements, fetched)
        return returned

    with connections[alias].execute_wrapper(send_with):
        yield results
    if not sent:
        results[:] = read_together(reads)


def _statements(reads: Sequence[Read]) -> list[tuple[str, _Compiled, list[Any]]]:
    return [r.prepared._statement(r.key, r.args, None) for r in reads]


def _one_alias(statements: list[tuple[str, _Compiled, list[Any]]]) -> str | None:
    """The database of every statement, or None where they go to different ones."""
    aliases = {alias for alias, _compiled, _params in statements}
    return aliases.pop() if len(aliases) == 1 else None


def _joined(statements: list[tuple[str, _Compiled, list[Any]]]) -> tuple[str, list[Any]]:
    # A parameter's %-placeholders only: a literal % of the SQL is already doubled.
    sql = ";\n".join(compiled.sql for _alias, compiled, _params in statements)
    return sql, [p for _alias, _compiled, params in statements for p in params]


def _fetched(cursor: Any, count: int) -> list[list]:
    """The rows of the first `count` results of the message just run, the cursor left on the
    last of them."""
    fetched: list[list] = []
    for index in range(count):
        if index and not cursor.nextset():
            raise RuntimeError("read_together: fewer results than statements")
        fetched.append(cursor.fetchall())
    return fetched


def _results(
    reads: Sequence[Read], statements: list[tuple[str, _Compiled, list[Any]]], fetched: list
) -> list[list[Any]]:
    results: list[list[Any]] = []
    for read, (read_alias, compiled, _params), rows in zip(reads, statements, fetched, strict=True):
        compiler, converted = read.prepared._converted(read_alias, compiled, rows)
        if read.objects:
            results.append(read.prepared._instances(read_alias, compiler, converted))
        else:
            results.append(list(map(tuple, converted)))
    return results


class _Compiled(NamedTuple):
    sql: str
    slots: list[Any]  # the parameters: a constant, or an _Argument's place
    compiler: SQLCompiler
    converters: dict[int, tuple[list, Any]]  # SQLCompiler.get_converters of the columns
    columns: list[Any]
    composite: bool  # a composite primary key among the columns


class _Argument:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index
