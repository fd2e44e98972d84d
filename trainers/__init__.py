"""Training, as torchgeo's ``trainers``: the LightningModules, LightningDataModules, settings and
the Lightning set-up of every model terrasynth trains.

- :mod:`.settings`: the pydantic settings of every trainer (torch-free, read by the CLI).
- :mod:`.metaearth`, :mod:`.changen2`, :mod:`.detector`: one LightningModule each, built from
  plain hyper-parameters (``save_hyperparameters``).
- :mod:`.corpus_data` (corpus samples, for the diffusion models) and :mod:`.change_data` (change
  pairs, for the detector): the LightningDataModules.
- :mod:`.trainer`: the one ``lightning.Trainer`` factory; :mod:`.run_folder`: the run folder,
  atomic checkpoints in ``checkpoints/last.ckpt``, resuming from them and the model folder with its
  ``training.json``; :mod:`.diffusion_run`: a diffusion model's whole run; :mod:`.ema`,
  :mod:`.epoch_sampler`, :mod:`.scaling`, :mod:`.diffusion_module`: the pieces the diffusion
  trainers share.

Trainers import ``core``, ``datasets``, ``models`` and ``evaluation``, never ``workflows``; the
commands and pipelines of ``workflows`` call them. Modules are imported by name (Lightning is heavy
to import).
"""
