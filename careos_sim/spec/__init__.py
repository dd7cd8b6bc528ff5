"""The static description: frozen, validated scenario specs (``*Spec``), and how they are read.

* :mod:`.scenario`: the pydantic models of a unit scenario (one ``*Spec`` per YAML block);
* :mod:`.loader`: reading YAML with ``extends``, presets and overrides, and located errors;
* :mod:`.limits`: the caps on what one input may cost.

Nothing here imports the runtime: a spec is data.
"""
