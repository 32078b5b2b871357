"""Developer tools run from the project root: ``python -m tools.vectors`` (X-Road's
conformance vectors) and ``python -m tools.docs`` (the generated tables of docs/).

They are not part of sild's packages: nothing in ``trust``, ``federation``,
``adapters`` or ``gateway`` imports them.
"""
