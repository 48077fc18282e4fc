"""The Mobile VLA policy (Kosmos-2 + [LRN] token + LSTM head), in rooms, each importing only those before it:

    model  <-  robovlms  <-  loading  <-  training        model  <-  deploy        model  <-  probes
"""
