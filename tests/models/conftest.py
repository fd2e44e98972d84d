import torch

# The models under test are tiny: extra threads only add overhead on shared CI machines.
torch.set_num_threads(1)
