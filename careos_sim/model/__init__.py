"""The SimPy runtime, built from a spec: entities, the unit's components and the unit.

* :mod:`.entities`: plain records (task, patient, nurse);
* :mod:`.streams`: named random streams (common random numbers);
* :mod:`.tasks`, :mod:`.patients`, :mod:`.nurses`, :mod:`.workforce`, :mod:`.safety`,
  :mod:`.defects`, :mod:`.leadership`, :mod:`.mechanisms`: one component each;
* :mod:`.unit`: one unit wired from its components, and one replication of it;
* :mod:`.shared`: what units of a hospital share.
"""
